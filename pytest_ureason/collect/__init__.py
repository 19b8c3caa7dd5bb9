"""From suite files to pytest items: schema, loaders, formats, generators."""
