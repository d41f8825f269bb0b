"""The API's areas, one module each."""
