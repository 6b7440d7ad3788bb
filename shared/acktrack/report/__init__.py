"""The daily report: collected from the store, a typed model, text, HTML, CSV and email."""
