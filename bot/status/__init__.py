"""The run's live status message in Slack, one small module per part (see the README's Code map):
`pipeline` (built once per process by `bot.plugin`), `actor`, `updater`, `throttle` and `lock_heartbeat`,
`once_only` and `posts`, `slack_calls`, `final_sweep`, `catch_up`. Its state lives in the store as the
run's announcement (`sync_engine.AnnouncementService`)."""
