"""The multi_label kind: posts scored for several harm classes at once (harmful content detection), by a
text baseline (TF-IDF + logistic regression) or a multimodal network with a head per class, with the
class imbalance handled by class weights, focal loss or negative downsampling + recalibration."""
