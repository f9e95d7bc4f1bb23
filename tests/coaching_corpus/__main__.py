"""Print the corpus confusion matrix (rows: labels, columns: verdicts)."""

from tests.coaching_corpus.matrix import outcomes, render

print(render(outcomes()))
