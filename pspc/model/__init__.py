"""The meaning of policies: the IR, and how source intents resolve into it."""
