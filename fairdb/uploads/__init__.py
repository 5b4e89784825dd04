"""The uploads blueprint: create datasets and upload sample-metadata files into them."""
