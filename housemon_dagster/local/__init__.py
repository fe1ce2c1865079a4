"""Services of the local platform: Delta tables on disk, local Spark, the HTTP endpoint."""
