"""The shell: the FastAPI app, the command line, the worker and the web pages."""
