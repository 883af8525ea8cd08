"""Everything that answers: the engine (retrieval + composition) and its channels."""
