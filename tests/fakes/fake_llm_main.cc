// placeholder: written by the provider helpers
int main() { return 0; }
