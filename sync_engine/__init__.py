"""Re-import Workday customers and their receivables documents into the AR store."""
