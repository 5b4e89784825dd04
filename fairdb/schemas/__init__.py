"""marshmallow schemas: the shapes of JSON in and out, and sample record validation."""
