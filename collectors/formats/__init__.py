"""Profile file formats: one module per format (a reader and/or writer); `detect` picks the reader."""
