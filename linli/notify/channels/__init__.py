"""Channel adapters: one interface (:class:`base.Adapter`), one module per gateway shape."""
