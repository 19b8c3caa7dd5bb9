"""The scene grammar: vocabulary, scene descriptions and their renderer."""
