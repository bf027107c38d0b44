"""The multi_task kind: a feed's posts scored by one network with a head per reaction (click, like,
comment, share, hide, dwell time), trained on the sum of weighted per-task losses; the feed is ordered by
an engagement score, a weighted sum of the heads."""
