"""Images with boxes for object detection (street-view blurring): the set every source gives, and the
data module that letterboxes, splits and batches it."""
