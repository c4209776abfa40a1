"""What a command does with a checked config: build the library objects, train (and explain) a
model, or explain a trained run; and the name and params a run is logged under."""
