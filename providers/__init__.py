"""Provider adapters: one module per hosted Aleph API, one interface, one error taxonomy."""
