"""Course maintenance: releasing notebooks, rendering the reading edition, bundles."""
