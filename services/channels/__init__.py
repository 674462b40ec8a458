"""The channels service: where every external protocol ends (WeChat, the complaints mailbox, SMS replies, the
12345/95598 hotlines' outbound pushes, Open311, the customer's status page). See README.md."""
