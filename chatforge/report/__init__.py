"""`chatforge report`: a run's report card as one self-contained HTML page and a Markdown twin."""
