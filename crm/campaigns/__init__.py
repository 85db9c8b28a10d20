"""Campaign mail: near-identical letters from many senders, one campaign, one reply each."""
