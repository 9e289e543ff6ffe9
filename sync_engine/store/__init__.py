"""The AR store: customers and their documents mirrored from Workday, and the batch runs."""
