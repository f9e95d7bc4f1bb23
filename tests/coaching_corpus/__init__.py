"""The coaching corpus: labelled owner histories and their confusion matrix.

`.venv/bin/python -m tests.coaching_corpus` prints the matrix kept in docs/COACHING.md.
"""
