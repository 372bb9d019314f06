# La fenêtre de la personne qui partage son écran (crates/host/src/window/).

window-title = Tandem — partager votre écran
window-title-short = Tandem
window-title-sharing = Tandem — partage avec { $name }
window-technician-unnamed = Le technicien
window-connecting = Connexion en cours…
window-joining = Un technicien se connecte…

## En attente du technicien
window-code-intro = Lisez ce code à votre technicien :
window-copy = Copier
window-copy-hint = Copier le code, pour le coller dans un message ou un courriel
window-code-expires = Il expire dans { $minutes } min { $seconds } s.
window-code-once = Il ne sert qu’une fois. Donnez-le seulement à la personne qui vous aide.
window-new-code = Nouveau code
window-stop = Arrêter
window-code-burned = { $left ->
    [one] Quelqu’un a essayé un code erroné : ce code ne fonctionne plus. En voici un nouveau ; lisez-le attentivement (encore 1 essai erroné et le partage s’arrête).
   *[other] Quelqu’un a essayé un code erroné : ce code ne fonctionne plus. En voici un nouveau ; lisez-le attentivement (encore { $left } essais erronés et le partage s’arrête).
}

## Consentement : une question à la fois
window-consent-title = Une question pour vous
window-consent-view = { $name } souhaite voir votre écran
window-consent-view-means = Si vous autorisez, { $name } verra tout ce qui s’affiche à votre écran jusqu’à ce que vous arrêtiez le partage, sans pouvoir utiliser votre souris ni votre clavier.
window-consent-control = { $name } souhaite utiliser votre souris et votre clavier
window-consent-control-means = Si vous autorisez, { $name } pourra utiliser votre souris et votre clavier comme s’il s’agissait de son propre ordinateur. Vous pouvez reprendre le contrôle à tout moment.
window-consent-diagnostics = { $name } souhaite consulter des renseignements sur cet ordinateur
window-consent-diagnostics-means = Système, mémoire, disques, réseau et programmes en cours. { $name } pourra seulement les lire ; rien n’est modifié.
window-consent-recording = { $name } souhaite enregistrer votre écran
window-consent-recording-means = Vous verrez « Enregistrement » en haut de votre écran pendant l’enregistrement, et vous pourrez l’arrêter à tout moment. Si vous refusez, la séance continue.
window-check-number = Numéro de vérification : { $number }
window-check-number-hint = Si { $name } vous donne un numéro de vérification, ce doit être celui-ci.
window-allow = Autoriser
window-deny = Refuser
window-consent-keys = Au clavier : Entrée ou Échap refuse. Pour autoriser, appuyez sur Tab, puis sur Espace.

## Pendant le partage : la barre en haut de l’écran
window-bar-sharing = Partage avec { $name }
window-bar-reconnecting = Connexion perdue, reconnexion en cours ({ $seconds } s)
window-bar-seeing = voit l’écran
window-bar-controlling = voit et contrôle
window-bar-recording = enregistre
window-bar-released = { $name } vous a rendu le contrôle
window-bar-open = Ouvrir
window-bar-open-hint = Ouvrir la fenêtre complète : clavardage, fichiers, presse-papiers
window-stop-sharing = Arrêter le partage
window-take-back-control = Reprendre le contrôle
window-stop-recording = Arrêter l’enregistrement

## Pendant le partage : la fenêtre complète
window-sharing-with = Partage avec { $name }
window-reconnecting = Reconnexion en cours…
window-reconnecting-detail = La connexion avec { $name } a été perdue. Rien n’est partagé jusqu’à son retour (encore { $seconds } s).
window-can-control = { $name } peut voir votre écran et utiliser votre souris et votre clavier.
window-can-see = { $name } peut voir votre écran.
window-can-nothing = { $name } ne peut pas voir votre écran.
window-control-released = { $name } vous a rendu le contrôle : il voit seulement votre écran maintenant.
window-technician-clipboard-off = { $name } a désactivé le partage du presse-papiers de son côté : les presse-papiers ne sont pas partagés.
window-recording-banner = • Enregistrement : { $name } enregistre votre écran.
window-back-to-bar = Revenir à la barre

## Après le partage
window-feedback-you-stopped = Vous avez arrêté de partager votre écran.
window-feedback-they-ended = { $name } a mis fin à la séance.
window-feedback-question = Comment cela s’est-il passé avec { $name } ? Votre réponse lui sera transmise.
window-feedback-bad = 1 (mauvais)
window-feedback-great = 5 (excellent)
window-feedback-comment = Un commentaire (facultatif) :
window-feedback-skip = Passer
window-feedback-send = Envoyer
window-ended = Le partage est terminé
window-ended-next-stopped = Plus rien n’est partagé. Si vous avez encore besoin d’aide, lancez Tandem et lisez le nouveau code à votre technicien.
window-ended-next-declined = Rien n’a été partagé. Si vous changez d’avis, relancez Tandem et lisez le nouveau code.
window-ended-next-other = Plus rien n’est partagé. Si vous avez encore besoin d’aide, relancez Tandem et lisez le nouveau code à votre technicien.
window-close = Fermer

## « Montrer mon écran » : l’écran du technicien
window-shown-title = { $name } vous montre son écran
window-shown-only-watch = (vous regardez seulement ; rien de votre côté n’est partagé ainsi)
window-shown-waiting = En attente de l’écran du technicien…
