"""What a run produced, read back: summaries, reports, the gate, studies."""
