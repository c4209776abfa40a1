from xaiexp.app.cli import main

main()
