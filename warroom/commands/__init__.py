"""The `/incident` command grammar: words in, a Command out; shared by the chat faces and the CLI."""
