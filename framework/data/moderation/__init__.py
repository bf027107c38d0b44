"""Posts for the multi_label kind (harmful content detection): the table every source gives, and the data
module that splits, tokenises, standardises and batches it."""
