"""Where browsers run: local headless Chromium, or E2B cloud sandboxes."""
