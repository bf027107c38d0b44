"""Feed impressions with several reactions for multi-task ranking (personalized news feed): the table
every source gives, and the data module that splits, encodes and batches its rows."""
