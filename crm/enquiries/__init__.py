"""Online enquiries: the public form's screener, its submissions, and private status links."""
