"""NLP: language, topic, place and urgency from an appeal's text.

Pure: it never touches the database.
"""
