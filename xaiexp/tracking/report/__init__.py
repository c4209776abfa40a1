"""``xaiexp report``: one table and one saliency grid comparing the runs of an experiment or a
sweep, with paired tests on the images the runs both scored."""
