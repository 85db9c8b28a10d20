"""The heart of Mailbag: settings, database, models and the services that change them."""
