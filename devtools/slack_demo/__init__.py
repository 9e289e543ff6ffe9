"""`python -m devtools.slack_demo` (`make slack-demo`): the Slack app working without a Slack workspace.

The Workday sandbox, the Slack emulator and the app on the embedded defaults, and an admin's request
played through them (the command, the form and its live counter, Synchronize, Confirm, the status message
filling in, the records file, history), printed as the admin sees it. A dev tool: the emulator is not
installed with the product.
"""
