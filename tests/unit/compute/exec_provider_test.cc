// placeholder: written by the provider helpers
