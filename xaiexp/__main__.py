from xaiexp.cli import main

main()
