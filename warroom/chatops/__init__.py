"""The chat face: Slack and Mattermost slash commands, and the one-tap ack page pages link to."""
