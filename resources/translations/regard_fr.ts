<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr_FR" sourcelanguage="en">
<context>
    <name>Regard</name>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Fichier</translation>
    </message>
    <message>
        <source>&amp;Tools</source>
        <translation>&amp;Outils</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Affichage</translation>
    </message>
    <message>
        <source>Abdomen</source>
        <translation>Abdomen</translation>
    </message>
    <message>
        <source>Accession</source>
        <translation>N° d'examen</translation>
    </message>
    <message>
        <source>All archives</source>
        <translation>Toutes les archives</translation>
    </message>
    <message>
        <source>Archive</source>
        <translation>Archive</translation>
    </message>
    <message>
        <source>Birth date</source>
        <translation>Date de naissance</translation>
    </message>
    <message>
        <source>Bone</source>
        <translation>Os</translation>
    </message>
    <message>
        <source>Brain</source>
        <translation>Cerveau</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <source>Clear measurements</source>
        <translation>Effacer les mesures</translation>
    </message>
    <message>
        <source>Crosshair</source>
        <translation>Réticule</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>Description</translation>
    </message>
    <message>
        <source>Distance</source>
        <translation>Distance</translation>
    </message>
    <message>
        <source>Fit to window</source>
        <translation>Ajuster à la fenêtre</translation>
    </message>
    <message>
        <source>INS</source>
        <translation>INS</translation>
    </message>
    <message>
        <source>Image {n}/{total}</source>
        <translation>Image {n}/{total}</translation>
    </message>
    <message>
        <source>Import...</source>
        <translation>Importer...</translation>
    </message>
    <message>
        <source>Invert</source>
        <translation>Inverser</translation>
    </message>
    <message>
        <source>LPS {x:.1f}, {y:.1f}, {z:.1f} mm</source>
        <translation>LPS {x:.1f}, {y:.1f}, {z:.1f} mm</translation>
    </message>
    <message>
        <source>Layout {name}</source>
        <translation>Disposition {name}</translation>
    </message>
    <message>
        <source>Liver</source>
        <translation>Foie</translation>
    </message>
    <message>
        <source>Loading images</source>
        <translation>Chargement des images</translation>
    </message>
    <message>
        <source>Loading the viewer...</source>
        <translation>Chargement de la visionneuse...</translation>
    </message>
    <message>
        <source>Local</source>
        <translation>Local</translation>
    </message>
    <message>
        <source>Local imports</source>
        <translation>Imports locaux</translation>
    </message>
    <message>
        <source>Lung</source>
        <translation>Poumon</translation>
    </message>
    <message>
        <source>Mediastinum</source>
        <translation>Médiastin</translation>
    </message>
    <message>
        <source>Modality</source>
        <translation>Modalité</translation>
    </message>
    <message>
        <source>Next image</source>
        <translation>Image suivante</translation>
    </message>
    <message>
        <source>No image could be assembled</source>
        <translation>Aucune image n'a pu être assemblée</translation>
    </message>
    <message>
        <source>No images found in {path}</source>
        <translation>Aucune image trouvée dans {path}</translation>
    </message>
    <message>
        <source>No user logged in</source>
        <translation>Aucun utilisateur connecté</translation>
    </message>
    <message>
        <source>Open DICOMDIR...</source>
        <translation>Ouvrir un DICOMDIR...</translation>
    </message>
    <message>
        <source>Open a DICOMDIR</source>
        <translation>Ouvrir un DICOMDIR</translation>
    </message>
    <message>
        <source>Open a folder of DICOM files</source>
        <translation>Ouvrir un dossier de fichiers DICOM</translation>
    </message>
    <message>
        <source>Open folder...</source>
        <translation>Ouvrir un dossier...</translation>
    </message>
    <message>
        <source>Pan</source>
        <translation>Déplacer</translation>
    </message>
    <message>
        <source>Patient</source>
        <translation>Patient</translation>
    </message>
    <message>
        <source>Patient ID</source>
        <translation>IPP</translation>
    </message>
    <message>
        <source>Patient ID or INS</source>
        <translation>IPP ou INS</translation>
    </message>
    <message>
        <source>Patient name</source>
        <translation>Nom du patient</translation>
    </message>
    <message>
        <source>Position {pos}</source>
        <translation>Position {pos}</translation>
    </message>
    <message>
        <source>Presets</source>
        <translation>Préréglages</translation>
    </message>
    <message>
        <source>Previous image</source>
        <translation>Image précédente</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Quitter</translation>
    </message>
    <message>
        <source>Reading {path}</source>
        <translation>Lecture de {path}</translation>
    </message>
    <message>
        <source>Recent</source>
        <translation>Récents</translation>
    </message>
    <message>
        <source>Scroll</source>
        <translation>Défilement</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>Rechercher</translation>
    </message>
    <message>
        <source>Series</source>
        <translation>Séries</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>Source</translation>
    </message>
    <message>
        <source>Stroke</source>
        <translation>AVC</translation>
    </message>
    <message>
        <source>Studies</source>
        <translation>Examens</translation>
    </message>
    <message>
        <source>Study date</source>
        <translation>Date de l'examen</translation>
    </message>
    <message>
        <source>Subdural</source>
        <translation>Sous-dural</translation>
    </message>
    <message>
        <source>Temporal bone</source>
        <translation>Rocher</translation>
    </message>
    <message>
        <source>Thickness {mm} mm</source>
        <translation>Épaisseur {mm} mm</translation>
    </message>
    <message>
        <source>Tools</source>
        <translation>Outils</translation>
    </message>
    <message>
        <source>True size 1:1</source>
        <translation>Taille réelle 1:1</translation>
    </message>
    <message>
        <source>User: {name}</source>
        <translation>Utilisateur : {name}</translation>
    </message>
    <message>
        <source>Value {v:g}</source>
        <translation>Valeur {v:g}</translation>
    </message>
    <message>
        <source>Window presets</source>
        <translation>Fenêtres prédéfinies</translation>
    </message>
    <message>
        <source>Window/level</source>
        <translation>Fenêtrage</translation>
    </message>
    <message>
        <source>YYYYMMDD</source>
        <translation>AAAAMMJJ</translation>
    </message>
    <message>
        <source>Zoom</source>
        <translation>Zoom</translation>
    </message>
    <message>
        <source>Zoom {z}</source>
        <translation>Zoom {z}</translation>
    </message>
    <message>
        <source>images</source>
        <translation>images</translation>
    </message>
    <message>
        <source>The images could not be shown: {error}</source>
        <translation>Les images n'ont pas pu être affichées : {error}</translation>
    </message>
    <message>
        <source>Cine</source>
        <translation>Ciné</translation>
    </message>
    <message>
        <source>Synchronised scrolling</source>
        <translation>Défilement synchronisé</translation>
    </message>
    <message>
        <source>Reference lines</source>
        <translation>Lignes de référence</translation>
    </message>
    <message>
        <source>Synchronised scrolling on</source>
        <translation>Défilement synchronisé activé</translation>
    </message>
    <message>
        <source>Synchronised scrolling off</source>
        <translation>Défilement synchronisé désactivé</translation>
    </message>
    <message>
        <source>No {preset} preset for {modality} images</source>
        <translation>Pas de préréglage {preset} pour les images {modality}</translation>
    </message>
    <message>
        <source>Rotate 90 degrees</source>
        <translation>Rotation de 90 degrés</translation>
    </message>
    <message>
        <source>Flip horizontally</source>
        <translation>Miroir horizontal</translation>
    </message>
    <message>
        <source>Flip vertically</source>
        <translation>Miroir vertical</translation>
    </message>
</context>
</TS>
