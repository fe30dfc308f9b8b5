"""The contract suite: run it with `contract-tests`, or `pytest contract_tests/suite`."""
