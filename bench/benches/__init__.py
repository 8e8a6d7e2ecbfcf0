"""Built-in bench files (registered under the entry-point group ``meterbench.benches``)."""
