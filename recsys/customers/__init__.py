"""The customer side: order summaries, RFM segments, behavioural clusters, BG/NBD churn and
purchase model, Gamma-Gamma spend, CLV, supervised churn baseline and CX metrics."""
