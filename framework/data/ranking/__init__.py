"""Query-grouped candidate rows for learning to rank (event recommendation): the table every source
gives, and the data module that splits, encodes and batches it by query."""
