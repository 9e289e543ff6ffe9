"""Slack front end of workday-resync (built in the Slack issue)."""
