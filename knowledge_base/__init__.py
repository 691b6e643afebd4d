"""The quick-answer knowledge base: articles and life situations in Russian and Kazakh, their
versions, retrieval for operators and bots, and the quick-answer share."""
