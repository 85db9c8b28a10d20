"""Staff and councillors who sign in to the web view."""
