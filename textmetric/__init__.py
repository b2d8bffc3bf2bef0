"""textmetric: deep metric learning for Japanese text.

Fine-tune a Japanese BERT as a Siamese or DSSM dual encoder with metric-learning losses, mine
training pairs and hard negatives, evaluate against baselines, search, and publish to the Hub.
"""

__version__ = "0.1.0"
