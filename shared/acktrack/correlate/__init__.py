"""Where what came back meets what was sent: a TA1 or 999 and its sets."""
