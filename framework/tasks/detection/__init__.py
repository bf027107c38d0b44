"""The detection kind: images -> boxes of classes (faces, licence plates) by an anchor-free detector,
scored by COCO AP/AR and by the product's privacy recall; the detected boxes are blurred."""
