"""Tasks over the whole platform, which need every service and so cannot live in `shared/`: applying every
service's migrations (`python -m operations.migrations`) and writing the contract documents
(`python -m operations.contracts`)."""
