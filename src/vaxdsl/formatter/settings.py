"""The layout's measures."""

WIDTH = 100
STEP = 2  # spaces per indentation level
